"""Disclosure (披露): what each party may see — public views, processed products, masking, verification."""
