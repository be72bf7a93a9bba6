"""Outbound (出库): orders, FEFO/FIFO allocation, picking, shipping and customer returns."""
