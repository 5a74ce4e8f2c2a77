"""compat: provider interfaces against consumer requirements; adapters that bridge them."""
