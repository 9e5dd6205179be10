"""Authorization (授权): signed consent artefacts, letter templates and the policy decision point."""
