"""The demo SAM: a small SAM trained on synthetic shapes, so everything runs without official weights."""
