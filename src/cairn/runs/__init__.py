"""Run records: what every ``run script`` did, kept so it can be found, shown and compared."""
