"""Helpers shared by the tests (hand-made results that follow the results contract)."""
