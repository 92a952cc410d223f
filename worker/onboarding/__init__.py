"""Onboarding a new portal: discovering what its properties mean (issue 22)."""
