import jax

from kit import cache


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
