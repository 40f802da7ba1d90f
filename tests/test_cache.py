import jax

from kit.engine import cache


def test_the_cache_folder_follows_kit_jax_cache(monkeypatch, tmp_path):
    before = jax.config.jax_compilation_cache_dir
    try:
        monkeypatch.setenv("KIT_JAX_CACHE", str(tmp_path))
        cache.enable_compilation_cache()
        assert jax.config.jax_compilation_cache_dir == str(tmp_path)
        assert jax.config.jax_persistent_cache_min_compile_time_secs == 0.0
        monkeypatch.setenv("KIT_JAX_CACHE", "")  # empty: leave the cache as it is, never point it at ""
        cache.enable_compilation_cache()
        assert jax.config.jax_compilation_cache_dir == str(tmp_path)
    finally:
        jax.config.update("jax_compilation_cache_dir", before)


def test_the_default_folder_is_ignored_by_git():
    gitignore = (cache.FOLDER.parent / ".gitignore").read_text().split()
    assert cache.FOLDER.parent.name and f"{cache.FOLDER.name}/" in gitignore


def test_make_points_jax_at_the_same_folder_for_everything_it_runs():
    makefile = (cache.FOLDER.parent / "Makefile").read_text()
    assert f"export JAX_COMPILATION_CACHE_DIR ?= $(CURDIR)/{cache.FOLDER.name}" in makefile
    assert "export JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS ?= 0" in makefile
