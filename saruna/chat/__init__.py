"""Live chat: chat buttons, the embeddable widget, routing, agent availability and the
delivery of chat messages (a chat is a ticket with channel type chat)."""
