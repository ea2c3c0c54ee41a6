package console

import "github.com/gin-gonic/gin"

// Suppressions is what the suppressions pages need.
type Suppressions struct{}

// suppressionRoutes adds the suppressions pages to g.
func (k *Console) suppressionRoutes(g *gin.RouterGroup) {}
