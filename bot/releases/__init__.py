"""The release approval gate: releases, their approvers, tokens and notifications."""
