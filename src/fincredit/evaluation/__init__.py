"""Evaluation (信用评价): indicator system, basic and scenario evaluations, scorecard models and metrics."""
