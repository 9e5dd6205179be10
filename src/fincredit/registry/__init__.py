"""Subjects: enterprises (by USCC) and natural persons (by resident ID), and real-name accounts."""
