"""The reference benchmark app (worker.py) and host-side sampling of its process."""
