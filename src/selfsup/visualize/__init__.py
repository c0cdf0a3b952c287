"""Pictures of what a trained model attends to or learned (attention maps, ...)."""
