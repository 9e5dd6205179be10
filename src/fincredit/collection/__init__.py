"""Collection (归集): parsing, validating and storing providers' batches, with lineage and quality."""
