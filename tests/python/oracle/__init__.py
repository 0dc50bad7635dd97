"""Independent reference implementations ("oracles") of the product's rules, for end-to-end tests.

They share no code with the pipeline: they read the raw files with the standard library and apply
the documented rules directly, so that a bug in the pipeline cannot hide in a shared helper.
"""
