"""JAX's persistent compilation cache for the train loops the engine compiles.

The first build of the book compiles each model shape's train loop once; with the cache on disk,
later processes (chapters, sweeps, tests) load them instead. The folder is KIT_JAX_CACHE, default
<repo>/.jax_cache (git-ignored); an empty KIT_JAX_CACHE turns the cache off. The law fits
(kit.fit) take no part in this: the Makefile points JAX's own variables (JAX_COMPILATION_CACHE_DIR
and friends) at the same folder for everything `make` runs, fits included.
"""

import os
from pathlib import Path

import jax

FOLDER = Path(__file__).resolve().parents[2] / ".jax_cache"


def enable_compilation_cache() -> None:
    """Keep compiled programs on disk (see the module docstring); idempotent.

        >>> enable_compilation_cache()
        >>> jax.config.jax_compilation_cache_dir == os.environ.get("KIT_JAX_CACHE", str(FOLDER))
        True
    """
    folder = os.environ.get("KIT_JAX_CACHE", str(FOLDER))
    if folder and jax.config.jax_compilation_cache_dir != folder:
        jax.config.update("jax_compilation_cache_dir", folder)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
