"""Places: the location tree of each site (warehouse → zone → bin, cold rooms, vehicles) and partners."""
