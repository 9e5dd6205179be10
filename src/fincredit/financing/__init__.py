"""Financing services (M7): products, financing needs and matching, loan feedback, evidence bundles."""
