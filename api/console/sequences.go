package console

import "github.com/gin-gonic/gin"

// Sequences is what the sequences pages need.
type Sequences struct{}

// sequenceRoutes adds the sequences pages to g.
func (k *Console) sequenceRoutes(g *gin.RouterGroup) {}
