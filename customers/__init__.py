"""Customers and the product instances they own."""
