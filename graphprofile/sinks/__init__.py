"""Sinks: where results leave graphprofile (files, report, Bloom, graph write-back)."""
