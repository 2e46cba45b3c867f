"""checkov policies of release_assets, loaded by checkov with ``--external-checks-dir``.

checkov imports every module of this folder itself (the folder must hold this
``__init__.py``); each module registers its checks when checkov imports it. release_assets
imports them only to test the rules, without checkov installed.
"""
