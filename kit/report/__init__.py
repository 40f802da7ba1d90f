"""The book's machinery: claims and their verdict rules, each chapter's results file and the results
page, the checks of a chapter's parameters, and the figures' one style.

Imports kit.laws and kit.engine (a parameter check reads the config and the corpora), never a chapter.
"""
