package console

import "github.com/gin-gonic/gin"

// Templates is what the templates pages need.
type Templates struct{}

// templateRoutes adds the templates pages to g.
func (k *Console) templateRoutes(g *gin.RouterGroup) {}
