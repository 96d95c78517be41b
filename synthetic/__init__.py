"""Synthetic national birth-care data: the organisation register and monthly deliveries with their truth."""
