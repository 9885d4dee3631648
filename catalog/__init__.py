"""Catalog: SKUs, their consumables and services, stores and stock."""
