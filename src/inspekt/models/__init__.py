"""Model cores: pure inference objects that the flow modules call."""
