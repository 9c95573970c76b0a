"""augnet-mock's pytest plugin (installed as `augnet_mock_pytest`; see `.plugin`)."""
