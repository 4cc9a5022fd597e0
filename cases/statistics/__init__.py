"""The period's figures and the monthly report."""
