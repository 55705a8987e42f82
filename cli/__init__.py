"""Console scripts ``evm`` and ``antispoof`` (click). Thin: parse, call the library, report."""
