"""Alibaba Cloud SMS (dysmsapi) and voice (dyvmsapi) through the official SDKs; imported only when a plan routes
numbers to it."""
