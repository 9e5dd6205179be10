"""Background jobs: the transactional outbox, huey as the job library, job records for the operator."""
