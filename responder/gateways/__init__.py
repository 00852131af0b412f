"""SMS and voice gateways behind one small interface; vendor errors become our own kinds here."""
