"""Pictures of a venue's figures as standalone SVG (pure: no Django import)."""
