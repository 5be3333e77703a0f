"""Evaluation of what a patient sees: end-to-end runs and the independence checks."""
