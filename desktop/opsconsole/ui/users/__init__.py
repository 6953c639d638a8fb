"""The Users and Roles pages (issue 17): views on the Qt-free core in opsconsole.users."""
