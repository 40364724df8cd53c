"""Evaluation surveys: which rounds are due (rounds), the links (invitations), and the answers
(answers: the own page's and Google Forms' harvest)."""
