"""The run record: summary.json, its writers and readers."""
