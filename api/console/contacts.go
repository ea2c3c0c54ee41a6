package console

import "github.com/gin-gonic/gin"

// Contacts is what the contacts pages need.
type Contacts struct{}

// contactRoutes adds the contacts pages to g.
func (k *Console) contactRoutes(g *gin.RouterGroup) {}
