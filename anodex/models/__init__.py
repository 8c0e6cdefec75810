"""The built-in physics blocks, one module each (the interface: anodex/blocks.py).

Every module here is imported by ``anodex.blocks.load``; a block class in it
decorated with ``@register`` is then part of anodex: its section is valid in
case files, sweeps and cluster jobs.  Modules that hold no block (shared
physics such as grand_potential.py) are imported too and register nothing.
"""
