"""The red-team suite of issue #20: what a state data-protection officer would try.

Each module takes one promise and attacks it: messages without values (``test_messages_without_values``),
inputs that are links, FIFOs, devices or bombs (``test_input_files``), file permissions under any umask
(``test_permissions``), an output folder that is not htna's (``test_output_folder``), the Dagster UI from
another site (``test_ui_guard``), erasure and retention (``test_erasure``), the linkage secret
(``test_linkage_secret``) and a full disk (``test_full_disk``). The canary test in
``tests/e2e/test_canaries_and_idempotence.py`` covers failed runs of every reader and check.
"""
