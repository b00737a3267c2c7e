"""The labs: statistics and pre-registered hypotheses about skip connections."""
