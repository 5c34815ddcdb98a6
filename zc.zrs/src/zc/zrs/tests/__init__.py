"""zc.zrs tests."""
