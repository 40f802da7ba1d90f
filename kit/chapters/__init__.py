"""Each chapter's analysis: the tables, numbers and claims a chapter shows, as functions of its runs
or of the authors' data. The top layer: it may import every other part of the kit, and nothing but
kit.cli imports it.
"""
