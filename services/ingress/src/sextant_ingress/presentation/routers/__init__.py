"""One router per resource; ``presentation/api.py`` only wires them."""
