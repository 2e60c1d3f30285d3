"""Typed core functions behind every command. Core never prints and never exits."""
