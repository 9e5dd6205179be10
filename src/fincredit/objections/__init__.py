"""Objections (异议申诉), their working-day deadlines (工作日 / 调休), corrections and credit repair (信用修复)."""
