"""Publication stage: the one gate every published number goes through (disclosure control)."""
