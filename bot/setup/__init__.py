"""Creating the GitHub App from `app.yml` (the manifest flow) and saving its credentials."""
