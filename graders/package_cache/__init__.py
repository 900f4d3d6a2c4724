"""A package cache for learners' builds: a caching proxy (proxy.py) and the authority it answers HTTPS with
(certs.py)."""
